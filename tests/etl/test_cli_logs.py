"""The long commands log their steps like the server when not on a terminal (issue 16).

Each command runs as its own process with stdout and stderr on pipes, as under cron: the
result stays on stdout, and every line on stderr is a log line in the format of
RALLY_LOG_FORMAT (one JSON object, or timestamp, level, logger and key=value pairs).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

RALLY = str(Path(sys.executable).parent / "rally")
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00"


def run(tmp_path: Path, log_format: str, *args: str) -> tuple[int, str, list[dict[str, Any]]]:
    """Run `rally ARGS` on pipes; return its exit code, stdout and its parsed log lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RALLY_")}
    env |= {"RALLY_DATA_DIR": str(tmp_path), "RALLY_LOG_FORMAT": log_format}
    done = subprocess.run(
        [RALLY, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert lines, done.stdout
    parse = json.loads if log_format == "json" else key_values
    return done.returncode, done.stdout, [parse(line) for line in lines]


def key_values(line: str) -> dict[str, Any]:
    """Parse `TIME LEVEL LOGGER msg=... key=value ...`; fail on anything else."""
    match = re.fullmatch(rf"({TIME}) (DEBUG|INFO|WARNING|ERROR|CRITICAL) ([\w.]+) (msg=.*)", line)
    assert match, f"not a key=value log line: {line!r}"
    fields: dict[str, Any] = {"time": match[1], "level": match[2], "logger": match[3]}
    for pair in shlex.split(match[4]):
        key, sep, value = pair.partition("=")
        assert sep and re.fullmatch(r"\w+", key), f"not key=value: {pair!r} in {line!r}"
        fields[key] = value
    return fields


def steps(records: list[dict[str, Any]], command: str) -> list[dict[str, Any]]:
    """The command's own lines (Alembic's, for example, come out in the same format)."""
    for record in records:
        assert re.fullmatch(TIME, record["time"]), record
        assert record["level"] in {"DEBUG", "INFO", "WARNING", "ERROR"} and record["msg"]
    own = [r for r in records if r["logger"] == "rally.cli"]
    assert own and all(r["command"] == command for r in own)
    assert own[0]["msg"] == "started" and own[-1]["msg"] == "finished"
    return own


def event(records: list[dict[str, Any]], msg: str) -> list[dict[str, Any]]:
    return [r for r in records if r["msg"] == msg]


def test_upgrade_import_backup_restore_log_json_lines(
    empty_db_url: str, sample_dir: Path, tmp_path: Path
) -> None:
    code, out, records = run(tmp_path, "json", "db", "upgrade", "--database-url", empty_db_url)
    assert code == 0 and "Upgraded empty" in out
    upgrade = steps(records, "db upgrade")
    assert any(r["msg"].startswith("committed: database is Rally revision") for r in upgrade)
    assert all(r["step_s"] >= 0 for r in upgrade[1:-1])
    assert upgrade[-1]["exit_code"] == 0 and upgrade[-1]["duration_s"] > 0

    code, out, records = run(tmp_path, "json", "etl", "import", str(sample_dir),
                             "--database-url", empty_db_url)  # fmt: skip
    assert code == 0 and "Import summary" in out  # the result table stays on stdout
    imported = steps(records, "etl import")
    assert [r["msg"] for r in imported] == ["started", "files checked"] + [
        "league read", "league loaded", "league finished"
    ] * 2 + ["import summary", "finished"]  # fmt: skip
    assert event(imported, "files checked")[0]["files"] == 4
    read = event(imported, "league read")
    assert [r["league"] for r in read] == ["CNSWPL", "NSTF"] and read[0]["rows"] == 6
    finished = event(imported, "league finished")
    assert [r["outcome"] for r in finished] == ["committed", "committed"]
    assert all(r["inserted"] > 0 and r["rejected"] == 0 for r in finished)
    assert all(r["duration_s"] >= 0 for r in read + event(imported, "league loaded"))
    elapsed = [r["elapsed_s"] for r in imported]
    assert elapsed == sorted(elapsed)
    assert imported[-1]["exit_code"] == code

    # Unchanged input: skipped, said so in the league's line.
    code, _, records = run(tmp_path, "json", "etl", "import", str(sample_dir),
                           "--database-url", empty_db_url)  # fmt: skip
    again = event(steps(records, "etl import"), "league finished")
    assert code == 0 and all(r["outcome"].startswith("skipped") for r in again)

    backup = tmp_path / "one.backup"
    code, out, records = run(tmp_path, "json", "db", "backup", str(backup),
                             "--database-url", empty_db_url)  # fmt: skip
    written = event(steps(records, "db backup"), "backup written")[0]
    assert code == 0 and f"backup:  {backup}" in out
    assert written["path"] == str(backup) and written["bytes"] == backup.stat().st_size
    assert written["sha256"] == hashlib.sha256(backup.read_bytes()).hexdigest()

    code, _, records = run(tmp_path, "json", "db", "restore", str(backup), "--force",
                           "--database-url", empty_db_url)  # fmt: skip
    restored = steps(records, "db restore")
    assert code == 0 and [r["msg"] for r in restored[1:-1]] == ["restoring", "restored"]
    assert restored[2]["sha256"] == written["sha256"] and restored[2]["duration_s"] > 0


def test_generate_and_import_log_key_value_lines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kv.db'}"
    code, out, records = run(tmp_path, "text", "generate", str(tmp_path / "leagues"),
                             "--leagues", "2", "--scale", "0.05")  # fmt: skip
    generated = steps(records, "generate")
    leagues = event(generated, "league written")
    assert code == 0 and "Generated 2 leagues" in out
    assert len(leagues) == 2 and all(int(r["players"]) > 0 for r in leagues)
    total = event(generated, "generated")[0]
    assert int(total["rows"]) == sum(
        int(r[k]) for r in leagues for k in ("players", "standings", "schedules", "matches")
    )
    assert run(tmp_path, "text", "db", "upgrade", "--database-url", url)[0] == 0
    code, _, records = run(tmp_path, "text", "etl", "import", str(tmp_path / "leagues"),
                           "--database-url", url)  # fmt: skip
    imported = steps(records, "etl import")
    # The generator's malformed rows are rejected: exit 3, a warning line at the end.
    assert code == 3 and imported[-1]["level"] == "WARNING" and imported[-1]["exit_code"] == "3"
    finished = event(imported, "league finished")
    assert sum(int(r["rejected"]) for r in finished) == int(total["malformed"]) > 0


def test_an_error_that_stops_a_command_is_a_log_line(tmp_path: Path) -> None:
    code, out, records = run(tmp_path, "json", "etl", "import", str(tmp_path / "missing"))
    assert code == 2 and out == ""
    lines = steps(records, "etl import")
    error = next(r for r in lines if r["level"] == "ERROR")
    assert error["msg"] == f"no such file or directory: {tmp_path / 'missing'}"
    assert error["exit_code"] == 2 and lines[-1]["exit_code"] == 2


@pytest.mark.parametrize("bad", ["xml", ""])
def test_an_invalid_log_format_is_a_sentence(tmp_path: Path, bad: str) -> None:
    env = {**os.environ, "RALLY_DATA_DIR": str(tmp_path), "RALLY_LOG_FORMAT": bad}
    done = subprocess.run([RALLY, "generate", str(tmp_path / "x")], env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 2 and "RALLY_LOG_FORMAT" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x").exists()


def test_commands_in_a_process_that_set_up_server_logging_log_each_line_once(
    tmp_path: Path,
) -> None:
    # `rally serve` sets up the root logger's stderr handler (configure_logging); a command run
    # later in the same process (tests, an embedding program) logs each line once, to the
    # stderr of the moment, never to a stream that was swapped and closed since.
    import logging

    from typer.testing import CliRunner

    from rally.cli import app
    from rally.config import Settings
    from rally.observability import configure_logging

    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        configure_logging(Settings(_env_file=None))  # type: ignore[call-arg]
        for _ in range(2):
            result = CliRunner().invoke(app, ["generate", str(tmp_path / "x"), "--scale", "-1"])
            said = [line for line in result.output.splitlines() if "--scale must be" in line]
            assert result.exit_code == 2 and len(said) == 1, result.output
            assert "Logging error" not in result.output
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
