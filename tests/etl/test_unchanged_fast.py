"""`rally etl import` of unchanged files is answered before SQLAlchemy, pydantic or the
importer load (rally.cli.etl_unchanged), and says exactly what the full command says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from etl_rows import player, sample_rows

from rally.cli.etl_unchanged import _parse, import_if_unchanged
from rally.etl.digests import Fingerprints, all_unchanged

MakeFiles = Callable[[dict[str, Any]], Path]

#: Runs `rally ARGS` as the console script does; writes the modules it loaded to a file.
PROBE = """
import sys
modules = sys.argv[1]
sys.argv = ["rally", *sys.argv[2:]]
from rally.cli import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
with open(modules, "w") as out:
    out.write(" ".join(sorted(sys.modules)))
sys.exit(code)
"""
#: The full command, never the shortcut.
FULL = """
import sys
from rally.cli import command
command()(sys.argv[1:], prog_name="rally")
"""
HEAVY = ("sqlalchemy", "pydantic", "rally.models", "rally.etl.importer", "rally.etl.reader")
NUMBERS = re.compile(r"^\S+ |(duration_s|elapsed_s)=[0-9.]+", re.MULTILINE)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RALLY_")}
    return env | {"RALLY_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}


def _probe(tmp_path: Path, *args: str) -> tuple[int, str, str, set[str]]:
    """Run `rally ARGS` on pipes: exit code, stdout, stderr, the modules it loaded."""
    modules = tmp_path / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(modules), *args],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr, set(modules.read_text().split())


def _full(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", FULL, *args],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.fixture
def corpus(make_files: MakeFiles) -> Path:
    """Sample files of two leagues with one rejected row (exit code 3)."""
    rows = sample_rows()
    rows["players.json"].append(player("NSTF", "bad", "Skokie S3", "Series 3", "Skokie", PTI="x"))
    return make_files(rows)


def test_unchanged_reimport_loads_no_heavy_module_and_says_what_the_full_command_says(
    db_url: str, corpus: Path, tmp_path: Path
) -> None:
    code, out, _err, modules = _probe(
        tmp_path, "etl", "import", str(corpus), "--database-url", db_url
    )
    assert code == 3, out
    assert "sqlalchemy" in modules  # the first import is a full one
    rejects = tmp_path / "rejects.jsonl"
    args = ("etl", "import", str(corpus), "--database-url", db_url, "--rejects", str(rejects))
    code, out, err, modules = _probe(tmp_path, *args)
    assert _heavy(modules) == []
    assert code == 3  # the row rejected last time still counts
    assert out.count("input unchanged since its last import") == 2
    assert "1 row(s) of unchanged input were rejected" in out
    assert rejects.read_text() == ""
    full_code, full_out, full_err = _full(tmp_path, *args)
    assert (code, out) == (full_code, full_out)
    assert NUMBERS.sub("", err) == NUMBERS.sub("", full_err)
    assert "league finished" in err and "exit_code=3" in err


def test_a_changed_file_runs_the_full_import(
    db_url: str, make_files: MakeFiles, tmp_path: Path
) -> None:
    rows = sample_rows()
    folder = make_files(rows)
    code, _out, _err, _modules = _probe(
        tmp_path, "etl", "import", str(folder), "--database-url", db_url
    )
    assert code == 0
    rows["players.json"].append(player("NSTF", "new", "Skokie S3", "Series 3", "Skokie"))
    folder = make_files(rows)
    code, out, _err, modules = _probe(
        tmp_path, "etl", "import", str(folder), "--database-url", db_url
    )
    assert code == 0, out
    assert "sqlalchemy" in modules
    # players.json holds both leagues' rosters: both are read again.
    assert "input unchanged" not in out and "Import summary" in out


@pytest.mark.parametrize(
    "extra",
    [["--force"], ["--dry-run"], ["--strict"], ["--league", "NOPE"], ["--max-shrink", "101"]],
)
def test_options_it_does_not_take_run_the_full_command(
    db_url: str, sample_dir: Path, tmp_path: Path, extra: list[str]
) -> None:
    args = ["etl", "import", str(sample_dir), "--database-url", db_url]
    assert _probe(tmp_path, *args)[0] == 0
    code, _out, _err, modules = _probe(tmp_path, *args, *extra)
    assert "typer" in modules and "rally.cli.root" in modules
    assert code == _full(tmp_path, *args, *extra)[0]


def test_parse_takes_the_options_of_the_command(tmp_path: Path) -> None:
    (tmp_path / "players.json").write_text("[]")
    parsed = _parse(
        [str(tmp_path), "--league=nstf", "--league", "CITA", "--max-shrink", "5", "--allow-shrink"]
    )
    assert parsed is not None
    assert parsed.paths == [tmp_path] and parsed.leagues == {"NSTF", "CITA"}
    assert _parse([str(tmp_path / "missing")]) is None
    (tmp_path / "empty").mkdir()  # without league files: the full command says so (exit 2)
    assert _parse([str(tmp_path), str(tmp_path / "empty")]) is None
    assert _parse([]) is None
    assert _parse([str(tmp_path), "--database-url"]) is None
    assert _parse([str(tmp_path), "--max-shrink", "lots"]) is None
    assert _parse([str(tmp_path), "--help"]) is None


def test_an_unreadable_database_leaves_it_to_the_full_command(
    sample_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    assert import_if_unchanged([str(sample_dir), "--database-url", url]) is None
    missing = f"sqlite:///{sample_dir / 'no.db'}"
    assert import_if_unchanged([str(sample_dir), "--database-url", missing]) is None
    assert capsys.readouterr() == ("", "")


def test_all_unchanged_needs_every_file_known_and_every_league_as_recorded() -> None:
    rows = [
        ("NSTF", "a", "NSTF CITA", 3, 1),
        ("CITA", "a", "NSTF CITA", 3, 0),
        ("CITA", "b", "CITA", 2, 2),
    ]
    known = Fingerprints.from_rows(rows)
    assert all_unchanged(known, ["a", "b"], None) == {"NSTF": 1, "CITA": 2}
    assert all_unchanged(known, ["a", "b"], {"NSTF"}) == {"NSTF": 1}
    assert all_unchanged(known, ["a"], None) is None  # CITA without file b changed
    assert all_unchanged(known, ["a", "b", "c"], None) is None  # a new file
    assert all_unchanged(known, ["a", "b"], {"APTA_CHICAGO"}) is None  # nothing to do
    assert all_unchanged(known, [], None) is None
