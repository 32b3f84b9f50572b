"""Small hand-written league files for the importer tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from etl_rows import sample_rows, write_rows


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """A directory of clean files for NSTF and CNSWPL."""
    return write_rows(tmp_path / "sample", sample_rows())


@pytest.fixture
def make_files(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write {name: rows} into a fresh directory and return it."""
    counter = iter(range(10_000))

    def make(files: dict[str, Any]) -> Path:
        return write_rows(tmp_path / f"files{next(counter)}", files)

    return make
