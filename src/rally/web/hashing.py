"""Password hashing that cannot starve the server: at most one argon2 run per CPU at a time.

argon2 is slow on purpose (tens of milliseconds of CPU and 64 MiB per hash, several threads
each). Sixteen sign-ups at once would otherwise share the cores equally, so every one of them
(and every other request, whose threads compete for the same cores) would finish only when
all are done. Queued, they finish one after another, and the rest of the server keeps a core.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from argon2 import PasswordHasher


class LimitedHasher(PasswordHasher):
    """A PasswordHasher whose hash and verify calls take one of `slots` turns."""

    def __init__(self, base: PasswordHasher | None = None, slots: int | None = None) -> None:
        base = base or PasswordHasher()
        super().__init__(
            time_cost=base.time_cost,
            memory_cost=base.memory_cost,
            parallelism=base.parallelism,
            hash_len=base.hash_len,
            salt_len=base.salt_len,
            encoding=base.encoding,
            type=base.type,
        )
        self._slots = threading.BoundedSemaphore(slots or max(1, (os.cpu_count() or 2) // 2))

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self._slots:
            return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        with self._slots:
            return super().verify(hash, password)
