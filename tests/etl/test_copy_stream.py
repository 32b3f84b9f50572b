"""CopyStream: new rows written as they come; a statement in between ends the COPY first."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rally.etl.bulk import CopyStream
from rally.models import Club


def test_rows_written_around_a_lookup_all_land(engine: sa.Engine) -> None:
    with Session(engine) as session, session.begin():
        stream = CopyStream(session, Club)
        for number in range(3):
            stream.write({"name": f"Club {number}"})
        # A lookup while rows are pending (PostgreSQL: the COPY is open) sees them.
        seen = session.execute(sa.select(sa.func.count()).select_from(Club)).scalar_one()
        stream.write({"name": "Club 3"})
        stream.close()
        names = session.execute(sa.select(Club.name).order_by(Club.name)).scalars().all()
    if engine.dialect.name == "postgresql":
        assert seen == 3
    assert names == [f"Club {n}" for n in range(4)]


def test_a_failing_caller_writes_nothing_more(engine: sa.Engine) -> None:
    with Session(engine) as session, session.begin():
        stream = CopyStream(session, Club)
        stream.write({"name": "Kept?"})
        stream.close(RuntimeError("the caller failed"))
        if engine.dialect.name == "postgresql":
            # The COPY was ended with an error: the transaction is aborted.
            with pytest.raises(sa.exc.DBAPIError):
                session.execute(sa.select(Club.id)).all()
        else:
            assert session.execute(sa.select(Club.id)).all() == []
