"""Stream a JSON array to disk one row at a time, laid out like the scraped files."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any


class JsonArrayWriter:
    """Write `[`, then each row indented as `json.dump(rows, indent=n)` would, then `]`."""

    def __init__(self, path: Path, *, indent: int) -> None:
        self._file = path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20)
        self._indent = indent
        self._pad = " " * indent
        self._newline = "\n" + self._pad
        self.count = 0
        self._file.write("[")

    def write(self, row: dict[str, Any]) -> None:
        """Append one row."""
        text = json.dumps(row, indent=self._indent).replace("\n", self._newline)
        self._file.write(("\n" if self.count == 0 else ",\n") + self._pad + text)
        self.count += 1

    def close(self) -> None:
        """Finish the array and close the file."""
        self._file.write("\n]" if self.count else "]")
        self._file.close()

    def __enter__(self) -> JsonArrayWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._file.close()
