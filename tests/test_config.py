"""Settings: flags over RALLY_* environment over defaults; `rally config`; `--version`; help."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rally.cli import app
from rally.config import Settings
from rally.errors import UsageError

runner = CliRunner()
RALLY = str(Path(sys.executable).parent / "rally")


def test_flags_win_over_environment_over_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RALLY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RALLY_DATABASE_URL", raising=False)
    defaults = Settings.load()
    assert defaults.port == 8000 and defaults.log_format == "text" and defaults.metrics is False
    assert defaults.database_url == f"sqlite:///{tmp_path / 'rally.db'}"
    monkeypatch.setenv("RALLY_PORT", "9001")
    monkeypatch.setenv("RALLY_METRICS", "true")
    monkeypatch.setenv("RALLY_LOG_FORMAT", "json")
    from_env = Settings.load()
    assert (from_env.port, from_env.metrics, from_env.log_format) == (9001, True, "json")
    assert Settings.load(port=9002).port == 9002


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RALLY_PORT", "eighty"), ("RALLY_PORT", "70000"), ("RALLY_LOG_FORMAT", "xml")],
)
def test_a_bad_setting_is_a_sentence_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(UsageError, match=variable):
        Settings.load()
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert variable in result.output and "Traceback" not in result.output


def test_rally_config_masks_secrets_and_says_where_each_setting_comes_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RALLY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RALLY_SECRET_KEY", "top-secret-value")
    monkeypatch.setenv("RALLY_DATABASE_READ_URL", "postgresql://rally:hunter2@db2:5432/rally")
    result = runner.invoke(
        app, ["config", "--json", "--database-url", "postgresql://rally:pw1@db:5432/rally"]
    )
    assert result.exit_code == 0, result.output
    assert "top-secret-value" not in result.output
    assert "hunter2" not in result.output and "pw1" not in result.output
    shown = json.loads(result.output)
    assert shown["secret_key"]["value"] == "********"
    assert shown["database_url"] == {
        "value": "postgresql://rally:***@db:5432/rally",
        "source": "flag",
    }
    assert shown["database_read_url"]["source"] == "environment (RALLY_DATABASE_READ_URL)"
    assert shown["port"] == {"value": "8000", "source": "default (RALLY_PORT unset)"}
    table = runner.invoke(app, ["config"])
    assert table.exit_code == 0 and "top-secret-value" not in table.output
    assert "RALLY_SECRET_KEY" in table.output


def _rally(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run([RALLY, *argv], capture_output=True, text=True, env=env, check=False)


def test_version() -> None:
    result = _rally("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"rally {version('rally')}"


_HELP_OF_EVERY_COMMAND = """
import contextlib, io, json
from rally.cli.root import command

def walk(cmd, path):
    subs = getattr(cmd, "commands", {})
    yield path
    for name, sub in subs.items():
        yield from walk(sub, [*path, name])

out = {}
for path in walk(command(), []):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            command().main([*path, "--help"], prog_name="rally", standalone_mode=False)
        except SystemExit:
            pass
    out[" ".join(path)] = buffer.getvalue()
print(json.dumps(out))
"""


def test_help_names_values_instead_of_types() -> None:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    python = Path(RALLY).with_name("python")
    result = subprocess.run(
        [python, "-c", _HELP_OF_EVERY_COMMAND], capture_output=True, text=True, env=env, check=True
    )
    helps = json.loads(result.stdout)
    assert len(helps) > 20 and "etl import" in helps and "admin claims transfer" in helps
    for name, text in helps.items():
        assert "Usage: rally" in text, name
        # No <bool> after flags, no <str>, <path>, <int range> or <list[...]> after values.
        assert not re.search(r"<(bool|str|int|float|path|list|file|dir)", text), (name, text)
    assert re.search(r"--port\s+PORT \[1<=x<=65535\]", helps["serve"])
    assert re.search(r"--database-url\s+URL\s", helps["db upgrade"])
    assert re.search(r"--rejects\s+FILE\s", helps["etl import"])
    assert re.search(r"--backup-dir\s+DIR\s", helps["db upgrade"])
    assert re.search(r"\*\s+PATHS\s+JSON files", helps["etl import"])


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [
        f"RALLY_{name.upper()}"
        for name in Settings.model_fields
        if f"`RALLY_{name.upper()}`" not in readme
    ]
    assert missing == []
