"""The table definitions revision 0002 creates.

Revision 0002 builds its constraints from these definitions, so they must describe the
schema *as of 0002*. Today that is exactly `rally.models` at head; when a later revision
changes the models, first freeze the 0002 shape here as explicit `sa.Table` definitions.
`tests/db/test_migrations.py` (upgrade from empty + `alembic check`) fails if they drift.
"""

from __future__ import annotations

import sqlalchemy as sa

from rally.models import Base


def head_metadata() -> sa.MetaData:
    """Return a fresh copy of the metadata of the schema revision 0002 produces."""
    # A copy: emitting AddConstraint marks a constraint as "not inline", which would leak
    # into the models' own metadata and every later create_all in the process.
    metadata = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    return metadata
