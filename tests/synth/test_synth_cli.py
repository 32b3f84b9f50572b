"""`rally generate` as a user runs it: summary, exit codes, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_runner import rally


def test_generate_writes_the_leagues_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "leagues"
    code, output = rally("generate", str(out), "--scale", "0.03", "--seed", "4", "--leagues", "5")
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == [
        "APTA_CHICAGO",
        "CITA",
        "CNSWPL",
        "NSTF",
        "SYN_05",
    ]
    players = json.loads((out / "SYN_05" / "players.json").read_text())
    assert {row["League"] for row in players} == {"SYN_05"}
    for key in ("APTA_CHICAGO", "SYN_05", "total"):
        assert key in output
    assert "27 rows are malformed on purpose" in output


def test_negative_scale_is_a_usage_error(tmp_path: Path) -> None:
    code, output = rally("generate", str(tmp_path / "x"), "--scale", "-1")
    assert code == 2
    # One sentence (off a terminal, one log line between the command's start and end).
    said = [line for line in output.splitlines() if not re.search(r"msg=(started|finished) ", line)]
    assert len(said) == 1 and "--scale" in said[0]
    assert not (tmp_path / "x").exists()


def test_directory_with_other_files_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    code, output = rally("generate", str(tmp_path), "--scale", "0.03")
    assert code == 2
    assert "not empty" in output
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_unwritable_target_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    target.write_text("[]")
    code, output = rally("generate", str(target), "--scale", "0.03")
    assert code == 2
    assert "not a directory" in output
    code, output = rally("generate", str(target / "below"), "--scale", "0.03")
    assert code == 2
    assert "cannot write" in output
