"""Validated records of one league and kind, kept on disk between reading and loading.

A league is loaded only once all its rows are read (its teams come from every file: see
:mod:`rally.etl.plan`), but at scale 100 one league is 1.7 M rows: holding its records
would take gigabytes. The reader writes them here, in pickled batches of plain tuples, to an
anonymous temporary file; the loader reads them back batch by batch, as often as it needs.
Memory holds one batch.
"""

from __future__ import annotations

import pickle
import tempfile
from collections import namedtuple
from collections.abc import Iterator
from functools import cache
from typing import IO, Any

from pydantic import BaseModel

from rally.etl.records import Kind, MatchRecord, PlayerRecord, ScheduleRecord, StandingRecord

_MODELS: dict[Kind, type[BaseModel]] = {
    Kind.PLAYERS: PlayerRecord,
    Kind.STANDINGS: StandingRecord,
    Kind.SCHEDULE: ScheduleRecord,
    Kind.MATCHES: MatchRecord,
}
_BATCH = 4000


@cache
def row_type(kind: Kind) -> Any:
    """Return the light record type of a kind: a named tuple with the model's fields."""
    model = _MODELS[kind]
    return namedtuple(f"{model.__name__}Row", list(model.model_fields))


class Spool:
    """Records of one kind on disk; iterate it (any number of times) to read them back.

    The records read back are named tuples with the fields (and attribute names) of the
    kind's pydantic model.
    """

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.count = 0
        self._file: IO[bytes] | None = None
        self._batch: list[tuple[Any, ...]] = []
        self._width = len(_MODELS[kind].model_fields)

    def add(self, record: Any) -> None:
        """Append one validated record (a pydantic model of the spool's kind)."""
        values = tuple(record.__dict__.values())
        assert len(values) == self._width
        self._batch.append(values)
        self.count += 1
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="rally-import-")  # noqa: SIM115 (closed by close)
        self._file.seek(0, 2)
        pickle.dump(self._batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._batch = []

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Any]:
        make = row_type(self.kind)._make
        if self._file is not None:
            self._flush()
            self._file.seek(0)
            while True:
                try:
                    batch = pickle.load(self._file)
                except EOFError:
                    break
                position = self._file.tell()
                for values in batch:
                    yield make(values)
                self._file.seek(position)
        for values in list(self._batch):
            yield make(values)

    def close(self) -> None:
        """Delete the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._batch = []
