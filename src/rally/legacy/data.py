"""Data steps of revision 0002: split shared series per league and re-point every row.

TODO(issue 4): split series used by several leagues and re-point referencing rows; merge back
on downgrade. Until then only empty legacy databases are upgraded.
"""

from __future__ import annotations

import sqlalchemy as sa

from rally.errors import RallyError


class LegacyDataUnsupported(RallyError):
    """The database holds data this revision cannot carry."""


def isolate(bind: sa.Connection) -> None:
    """Give every series a league and re-point referencing rows to their league's series."""
    if bind.execute(sa.text("SELECT 1 FROM series LIMIT 1")).first() is not None:
        raise LegacyDataUnsupported("Upgrading a legacy database with data is not implemented yet.")


def merge_back(bind: sa.Connection) -> None:
    """Return an isolated database to the legacy shape."""
    raise LegacyDataUnsupported("Downgrading to the legacy schema is not implemented yet.")
