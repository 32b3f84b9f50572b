"""Read a league file as a stream of rows, one row at a time, and tell what it holds.

A whole-file ``json.loads`` holds every row (and its Python objects) at once: at scale 100
one file is gigabytes. ijson's C parser (yajl) yields row after row instead.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rally.errors import RallyError
from rally.etl.records import Kind

#: Keys present in every row of a kind; the kind with most rows carrying all of them wins.
_MARKERS: dict[Kind, frozenset[str]] = {
    Kind.PLAYERS: frozenset({"Player ID", "First Name"}),
    Kind.STANDINGS: frozenset({"team", "series", "matches"}),
    Kind.SCHEDULE: frozenset({"home_team", "away_team", "date"}),
    Kind.MATCHES: frozenset({"Home Team", "Away Team", "Scores"}),
}
_SAMPLE = 50


class ImportFileError(RallyError):
    """A whole input file cannot be imported."""


class UnreadableFile(ImportFileError):
    """The file cannot be opened or decoded."""


class MalformedJSON(ImportFileError):
    """The file is not valid JSON."""


class WrongShape(ImportFileError):
    """The JSON is valid but not a list of row objects."""


class UnknownKind(ImportFileError):
    """The rows match none of the four known kinds."""


_SHAPES = {b"{": "dict", b'"': "str", b"t": "bool", b"f": "bool", b"n": "NoneType"}


def iter_rows(path: Path, fast: bool | None = None) -> Iterator[Any]:
    """Yield the rows of a JSON list file one by one, holding one row at a time.

    Raises an ImportFileError subclass naming the file when it cannot be read, is not
    UTF-8, is not JSON or is not a list. ``fast``: whether the C parser can read the file
    (no surrogate escape), when already known (see ``fast_parser``); None: look.
    """
    import ijson  # C parser (yajl2_c); imported here to keep `rally` start-up light

    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read file ({exc.strerror or exc})") from None
    with handle:
        head = handle.read(4096).lstrip()
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:].lstrip()
        first = head[:1]
        if first and first != b"[":
            found = _SHAPES.get(first, "float" if first in b"-0123456789" and first else "")
            if found:
                raise WrongShape(f"{path}: expected a JSON list of rows, found a {found}")
        handle.seek(0)
        yielded = 0
        # yajl (the fast C parser) turns a lone UTF-16 surrogate escape into "?" or fails,
        # and cannot hold integers past 64 bits: such files go to the pure-Python parser,
        # which reads them as Python's json does (rare: only those files pay for it).
        if fast is None:
            fast = not _has_surrogate_escape(handle)
            handle.seek(0)
        if fast and path.stat().st_size <= _WHOLE_BYTES:
            whole = _parse_whole(handle)
            if whole is not None:
                yield from whole
                return
            handle.seek(0)
        if fast:
            try:
                for row in ijson.items(handle, "item", use_float=True):
                    yielded += 1
                    yield row
                return
            except ijson.JSONError as exc:
                detail = _detail(exc)
                if "integer overflow" not in detail:
                    raise _file_error(path, detail, handle.tell()) from None
            except UnicodeDecodeError:
                pass
            except OSError as exc:
                raise UnreadableFile(f"{path}: cannot read file ({exc.strerror or exc})") from None
            handle.seek(0)
        python = ijson.get_backend("python")
        try:
            yield from itertools.islice(python.items(handle, "item", use_float=True), yielded, None)
        except ijson.JSONError as exc:
            raise _file_error(path, _detail(exc), handle.tell()) from None
        except UnicodeDecodeError:
            raise UnreadableFile(f"{path}: not UTF-8 text") from None
        except RecursionError:
            raise MalformedJSON(f"{path}: malformed JSON (nested too deeply)") from None


#: Files up to this size are parsed whole by Python's json (C), some 1.5-2x faster than the
#: streaming parser; what it would read differently from ijson goes to the streaming path.
_WHOLE_BYTES = 8 << 20


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_whole(handle: Any) -> list[Any] | None:
    """Parse a small file whole; None when the streaming parser must read it instead (not
    a list, not strict JSON, NaN or Infinity, a BOM, bad UTF-8: its messages name them)."""
    import json

    data = handle.read()
    if data.startswith(b"\xef\xbb\xbf"):  # json takes a BOM, the streaming parser does not
        return None
    try:
        rows = json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError too
        return None
    return rows if isinstance(rows, list) else None


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def fast_parser(path: Path) -> bool | None:
    """Tell whether the C parser can read a file (see iter_rows); None: cannot be read."""
    try:
        with path.open("rb") as handle:
            return not _has_surrogate_escape(handle)
    except OSError:
        return None


def _has_surrogate_escape(handle: Any) -> bool:
    """Tell whether a JSON file holds a \\uD800-\\uDFFF escape (chunked: memory stays flat)."""
    tail = b""
    while chunk := handle.read(1 << 20):
        if _SURROGATE_ESCAPE.search(tail + chunk):
            return True
        tail = chunk[-8:]
    return False


def _detail(exc: Exception) -> str:
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = str(text).strip().splitlines()
    return lines[0] if lines else "parse error"


def _file_error(path: Path, detail: str, where: int) -> ImportFileError:
    if "UTF8" in detail or "utf-8" in detail.lower():
        return UnreadableFile(f"{path}: not UTF-8 text")
    return MalformedJSON(f"{path}: malformed JSON near byte {where}: {detail}")


def kind_and_rows(path: Path, fast: bool | None = None) -> tuple[Kind | None, Iterator[Any]]:
    """Detect a file's kind from its first rows; return it with an iterator over all rows."""
    rows = iter_rows(path, fast)
    sample = list(itertools.islice(rows, _SAMPLE))
    kind = detect_kind(sample, path)
    return kind, itertools.chain(sample, rows)


def detect_kind(rows: list[Any], path: Path) -> Kind | None:
    """Return the kind of the rows from their keys (None for an empty list)."""
    sample = [row for row in rows[:_SAMPLE] if isinstance(row, dict)]
    if not rows:
        return None
    if not sample:
        raise WrongShape(f"{path}: expected a JSON list of row objects")
    scores = {
        kind: sum(1 for row in sample if keys <= row.keys()) for kind, keys in _MARKERS.items()
    }
    kind, best = max(scores.items(), key=lambda item: item[1])
    if best == 0:
        raise UnknownKind(
            f"{path}: cannot tell what the rows hold (not players, standings, schedule "
            "or match results)"
        )
    return kind
