"""PTI history: a point whenever a newer snapshot changes a player's PTI.

The scraped rosters carry each player's current PTI only; the history is what the imports
saw. A point is dated the day of the import and holds the new PTI. The first import of a
player with a PTI records the first point; re-importing the same snapshot adds nothing
(the latest point already holds that PTI), and legacy ``player_history`` rows count as
points like any other.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

_PTI_HISTORY = text(
    """
INSERT INTO player_history (player_id, league_id, series, date, end_pti)
SELECT p.id, p.league_id, se.name, :day, p.pti
FROM players p JOIN series se ON se.id = p.series_id
WHERE p.league_id = :league AND p.pti IS NOT NULL AND p.is_active = :active
  AND coalesce((
        SELECT h.end_pti FROM player_history h WHERE h.player_id = p.id
        ORDER BY h.date DESC, h.id DESC LIMIT 1
      ) <> p.pti, :active)
"""
)


def record_pti_history(session: Session, league_id: int, day: dt.date | None = None) -> int:
    """Add a PTI history point (dated ``day``, default today) for every active player of the
    league whose PTI differs from their latest point (or who has none); return how many.

    Re-importing the same snapshot therefore adds nothing; legacy points count as latest.
    """
    result = session.execute(
        _PTI_HISTORY,
        {"day": day or dt.date.today(), "league": league_id, "active": True},
    )
    return int(getattr(result, "rowcount", 0) or 0)
