"""Import a module on first use, so `rally --help` starts without SQLAlchemy, Alembic or rich.

`importlib.util.LazyLoader` cannot serve here: finding a submodule's spec imports its parent
package, and `rally.db` itself imports SQLAlchemy. A proxy that imports on first attribute
access can. Callers import the real module under ``TYPE_CHECKING`` so types stay exact.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stand-in for a module, imported the first time one of its attributes is read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    """Return a proxy that imports module `name` when first used."""
    return LazyModule(name)
