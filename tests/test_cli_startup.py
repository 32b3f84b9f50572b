"""`rally --help` and `rally db --help` load no heavy module: they start in a fraction of a second."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Modules that cost tens to hundreds of milliseconds each; no help screen needs them. (rich is
# and pydantic are not listed: Typer itself renders help with rich and binds parameters with
# pydantic.)
HEAVY = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "uvicorn",
    "psycopg",
    "argon2",
    "rally.db",
    "rally.models",
    "rally.etl.importer",
    "rally.legacy",
    "rally.services",
    "rally.web",
    "rally.synth",
    "rally.config",  # pydantic-settings: over 100 ms (rally.cli.admin imported it)
    "pydantic_settings",
)

PROBE = """
import sys
from typer.main import get_command
from rally.cli import app
try:
    get_command(app).main(sys.argv[1:], prog_name="rally", standalone_mode=False)
except SystemExit:
    pass
print("LOADED", " ".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["db", "--help"],
        ["etl", "--help"],
        ["db", "upgrade", "--help"],
        ["admin", "--help"],
    ],
)
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    ).stdout
    assert "Usage" in out
    loaded = set(out.split("LOADED", 1)[1].split())
    heavy = sorted(
        m
        for m in loaded
        if m.split(".")[0] in HEAVY
        or m in HEAVY
        or any(m == h or m.startswith(h + ".") for h in HEAVY)
    )
    assert heavy == [], f"`rally {' '.join(argv)}` imported {heavy[:10]}"
