"""Small files are parsed whole (Python's json), big ones streamed (ijson): both read every
file the same, rows or the error naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rally.etl import files

CONTENTS = [
    b'[{"a": 1.0, "b": 10, "c": 1e3, "d": -0.0, "e": "x\\u00e9", "f": null, "g": [true]}]',
    b'[{"a": 1, "a": 2}, {"big": 123456789012345678901234567890}]',
    b"\xef\xbb\xbf[{}]",  # a BOM
    b'[{"a": NaN}]',
    b'[{"a": Infinity}]',
    b'[{"a": 1}] trailing',
    b'[{"a": "\\ud800"}]',  # a lone surrogate escape
    b'[{"a": "caf\xc3"}]',  # not UTF-8
    b'{"a": 1}',
    b'"text"',
    b"[1, 2",
    b"[]",
    b'[{"a": "line\nbreak"}]',  # a raw control character
    b"[" + b"[" * 400 + b"]" * 400 + b"]",  # deep (not so deep that comparing overflows)
]


def _read(path: Path) -> Any:
    try:
        return ("rows", list(files.iter_rows(path)))
    except files.ImportFileError as exc:
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("content", CONTENTS)
def test_whole_and_streamed_reads_agree(
    content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rows.json"
    path.write_bytes(content)
    whole = _read(path)
    monkeypatch.setattr(files, "_WHOLE_BYTES", -1)
    streamed = _read(path)
    assert whole == streamed
